"""The parametric loss law L(N, D) = E + A/N^alpha + B/D^beta and its compute-optimal allocation.

With C = 6ND, minimising L at fixed C gives (Hoffmann et al. 2022, App. D):
    N_opt(C) = G (C/6)^a,  D_opt(C) = G^-1 (C/6)^b,  G = (alpha A / (beta B))^(1/(alpha+beta)),
    a = beta/(alpha+beta),  b = alpha/(alpha+beta).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ParametricLaw:
    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, N, D):
        N, D = np.asarray(N, float), np.asarray(D, float)
        return self.E + self.A / N**self.alpha + self.B / D**self.beta

    @property
    def a(self) -> float:
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        # numpy power: NaN (not a Python complex) when a fitted exponent is negative and the
        # allocation formulas do not apply; the fit reports that case with a warning.
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.float64(self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta)))

    def n_opt(self, C):
        return self.G * (np.asarray(C, float) / 6.0) ** self.a

    def d_opt(self, C):
        return (np.asarray(C, float) / 6.0) ** self.b / self.G

    def loss_opt(self, C):
        return self.loss(self.n_opt(C), self.d_opt(C))

    def to_log(self) -> np.ndarray:
        """LSE parameters (a=log A, b=log B, e=log E, alpha, beta), as in Hoffmann et al. / Epoch AI."""
        return np.array([math.log(self.A), math.log(self.B), math.log(self.E), self.alpha, self.beta])

    @classmethod
    def from_log(cls, theta) -> "ParametricLaw":
        a, b, e, al, be = (float(x) for x in theta)
        return cls(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=al, beta=be)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


#: Hoffmann et al. (2022) as printed in the paper body (rounded).
CHINCHILLA_PUBLISHED = ParametricLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
#: Hoffmann et al. (2022) unrounded values from the paper's TeX source (Epoch AI's start point).
CHINCHILLA_UNROUNDED = ParametricLaw.from_log([6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083])
#: Besiroglu et al. (2024, Epoch AI) re-fit of the digitised Chinchilla points (240 points).
EPOCH_2024 = ParametricLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
