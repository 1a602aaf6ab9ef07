"""Answers to the multiple-choice questions of CMU 11-785 HW1P1 (each a lower-case letter).

Each answer is worked out in the docstring of its function.
"""


def question_1() -> str:
    """np.sum over axis 0 of a (3, 4, 5) array: keepdims=True gives (1, 4, 5), else (4, 5)."""
    return "b"


def question_2() -> str:
    """Batch norm's mean and variance are per neuron (feature), computed over the batch."""
    return "a"


def question_3() -> str:
    """Yes: inference has no batch to take statistics from, so running averages are kept."""
    return "a"


def question_4() -> str:
    """The zip read (building each layer's weights and biases in one line): yes."""
    return "a"


def question_5() -> str:
    """A layer is z = f(x W + b) with W (in, out), x (batch, in), b (1, out)."""
    return "c"
