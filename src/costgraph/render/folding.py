"""Which quantities of a derivation are zero-valued branches that a reader can skip.

A dense model on one GPU still derives the terms of the features it does not use: expert
bytes, latent-attention widths, offloaded KV, tensor-parallel traffic. They come out zero and
add nothing, yet they are a good part of a derivation. ``zero_branches`` finds them so that
diagrams and text derivations can fold them behind one line, and unfold them on request:

* a quantity whose value is zero folds, unless it must stay (see ``keep``);
* so does a quantity that only folded quantities use: the inputs of a zero term that
  nothing else needs (the offload bandwidth of an offload that moves nothing).

A quantity with a non-zero value that something shown uses is never folded.
"""

from __future__ import annotations

FOLD_HINT = "unfold to show them"  # how every folded line ends; the CLI's flag is --unfold


def feeds(result, name: str) -> list[str]:
    """The quantities that fed ``name`` through its rule; [] for an input."""
    step = result.steps[name]
    if step.kind in ("derived", "solved") and step.rule:
        return [n for n in step.inputs if n in result.steps]
    return []


def is_zero(result, name: str) -> bool:
    """True when the value of ``name`` in ``result`` is exactly zero (in any unit)."""
    magnitude = result.steps[name].value.magnitude
    try:
        return bool(magnitude == 0)
    except (TypeError, ValueError):  # an array-valued quantity is never folded
        return False


def zero_branches(result, names, keep=()) -> frozenset[str]:
    """The quantities among ``names`` to fold: zero-valued ones, and what only they use.

    Parameters
    ----------
    result : Result
        The answer the quantities belong to.
    names : iterable of str
        The quantities drawn or explained (a closed derivation: each one's inputs that
        are drawn are in it).
    keep : iterable of str
        Quantities that stay whatever their value: what was asked for, what a drawn
        constraint compares. Values given in the query always stay too.

    Returns
    -------
    frozenset of str
        The names to fold; empty when nothing is zero.
    """
    names = set(names)
    stays = set(keep) | {n for n in names if result.steps[n].kind in ("given", "override")}
    users: dict[str, set[str]] = {n: set() for n in names}
    for name in names:
        for child in feeds(result, name):
            if child in names:
                users[child].add(name)
    folded = {n for n in names - stays if is_zero(result, n)}
    # walk down from the folded terms: an input all of whose users fold, folds too
    pending = sorted(folded)
    while pending:
        for child in feeds(result, pending.pop()):
            if (child in names and child not in folded and child not in stays
                    and users[child] <= folded):
                folded.add(child)
                pending.append(child)
    return frozenset(folded)


def fold_summary(folded) -> str:
    """``"3 quantities zero here, folded: a, b, c"`` — the names sorted."""
    count = len(folded)
    noun = "quantity" if count == 1 else "quantities"
    return f"{count} {noun} zero here, folded: {', '.join(sorted(folded))}"
