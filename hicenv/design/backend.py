"""The backend contract: design point -> metrics (see :mod:`hicenv.design.backends`)."""

from __future__ import annotations

from hicenv.design.space import DesignSpace
from hicenv.sim.config import HICConfig

__all__ = ["Backend"]


class Backend:
    """Design point -> metrics. Subclasses implement :meth:`__call__`."""

    name = "backend"
    budget = None
    """The training budget behind the answers (None: not training)."""

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        raise NotImplementedError

    def check(self, config: HICConfig) -> None:
        """Refuse, before a search starts, a point this backend cannot answer (an
        :class:`~hicenv.errors.InputError` naming what to change). The default answers
        every point."""

    def covered(self, space: DesignSpace, exact: bool) -> tuple[DesignSpace, tuple | None]:
        """The space searches run over with this backend, and the noise levels it holds
        (None: any). ``exact``: ``space`` as given, else what the backend covers of it."""
        return space, None

    def prepare(self, space: DesignSpace, noise_levels: tuple[float, ...]) -> None:
        """Get ready to answer every point of ``space`` at each of ``noise_levels`` (an env's
        episode contexts), e.g. by computing the answers now. The default does nothing."""
