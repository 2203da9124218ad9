from __future__ import annotations

import numpy as np

from bandits.config import BanditConfig
from bandits.uniform import Uniform
from tests.bandits.cases import TYPICAL


def test_every_arm_is_equally_likely() -> None:
    assert Uniform(BanditConfig()).weights(TYPICAL, np.random.default_rng(0)) == dict.fromkeys(
        TYPICAL, 0.2
    )
