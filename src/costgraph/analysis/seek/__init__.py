"""Seek: the best value of one quantity over some inputs, under the declared constraints."""
