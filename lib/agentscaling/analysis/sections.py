"""Which studies each notebook (paper section) runs, and how the paper names them."""

from __future__ import annotations

WM_STUDIES = ("wm-token-64", "wm-token-256")  # §4: WM-Token at two compressions
WM_LABELS = ("WM-Token-64", "WM-Token-256")
BC_STUDIES = ("bc-token-64", "bc-token-small", "bc-cnn")  # §4, §5.2, App. E
BC_LABELS = ("BC-Token-64", "BC-Token-small", "BC-CNN")
BC_COMPARE_WM = "wm-token-64"  # the WM study on the same sequences as BC-Token
EXTRAPOLATION_STUDIES = ("wm-token-64", "wm-extrapolation")  # §4.3
SHAKESPEARE_STUDIES = ("lm-shakespeare-dense", "lm-shakespeare-sparse", "lm-shakespeare-superclass")  # §5.1
SHAKESPEARE_LABELS = ("dense", "sparse", "super-classed")
BOOKS_STUDIES = ("lm-books-char", "lm-books-gpt2")  # §5.3, App. B
BOOKS_LABELS = ("character", "GPT-2 BPE")
