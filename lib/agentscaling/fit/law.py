"""The parametric loss law L(N, D) = E + A/N^alpha + B/D^beta and its compute-optimal allocation.

With C = 6ND, minimising L at fixed C gives (Hoffmann et al. 2022, App. D):
    N_opt(C) = G (C/6)^a,  D_opt(C) = G^-1 (C/6)^b,  G = (alpha A / (beta B))^(1/(alpha+beta)),
    a = beta/(alpha+beta),  b = alpha/(alpha+beta).

Other compute conventions: when the FLOPs per training input grow as c N^gamma (C = c N^gamma D;
6ND is c = 6, gamma = 1; a CNN's FLOP counter can give gamma ~ 0.8), the same minimisation gives
    N_opt(C) = G_c (C/c)^a,  G_c = (alpha A / (gamma beta B))^(1/(alpha + gamma beta)),
    a = beta/(alpha + gamma beta),  b = 1 - gamma a = alpha/(alpha + gamma beta),  D_opt = C/(c N_opt^gamma),
so a + b = (alpha + beta)/(alpha + gamma beta) is 1 only when gamma = 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ComputeConvention:
    """Training FLOPs per input (token, sample) as c * N^gamma, i.e. C = c N^gamma D."""

    c: float = 6.0
    gamma: float = 1.0

    @property
    def is_6nd(self) -> bool:
        return self.c == 6.0 and self.gamma == 1.0

    def flops_per_input(self, N):
        return self.c * np.asarray(N, float) ** self.gamma

    def tokens(self, N, C):
        """D such that C is spent on a model of N parameters."""
        return np.asarray(C, float) / self.flops_per_input(N)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


#: Kaplan/Chinchilla's C = 6ND.
SIX_ND = ComputeConvention()


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

    def allocation_exponents(self, convention: ComputeConvention = SIX_ND) -> tuple[float, float]:
        """(a, b) of N_opt ∝ C^a and D_opt ∝ C^b under a compute convention (see module doc)."""
        a = self.beta / (self.alpha + convention.gamma * self.beta)
        return a, 1.0 - convention.gamma * a

    def G_for(self, convention: ComputeConvention = SIX_ND) -> float:
        """The prefactor G_c of N_opt = G_c (C/c)^a (G itself under 6ND)."""
        g = convention.gamma
        with np.errstate(invalid="ignore", divide="ignore"):
            base = np.float64(self.alpha * self.A / (g * self.beta * self.B))
            return float(base ** (1.0 / (self.alpha + g * self.beta)))

    def n_opt(self, C, convention: ComputeConvention = SIX_ND):
        a, _ = self.allocation_exponents(convention)
        return self.G_for(convention) * (np.asarray(C, float) / convention.c) ** a

    def d_opt(self, C, convention: ComputeConvention = SIX_ND):
        return convention.tokens(self.n_opt(C, convention), C)

    def loss_opt(self, C, convention: ComputeConvention = SIX_ND):
        return self.loss(self.n_opt(C, convention), self.d_opt(C, convention))

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
