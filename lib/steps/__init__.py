"""The checked derivation steps of the book, one module a chapter.

Each module builds exact sympy objects for explicit sizes and proves every
step with :func:`lib.symbolic.check_step`; a page calls its functions and
shows the returned :class:`lib.symbolic.Step` objects. The builders of the
right-hand sides are separate functions, so that tests can feed a step a
deliberately wrong candidate and watch it fail.
"""

SIZES = range(2, 6)
"""The explicit sizes (N, or n for the lemma) every derivation step is proved for."""
