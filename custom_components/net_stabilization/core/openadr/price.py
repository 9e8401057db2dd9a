"""A PRICE event as an input of the local price strategy.

While an OpenADR event gives a price, the strategy reads it instead of the price entity; when no
event gives one, the entity's price is read as before.
"""

from __future__ import annotations

from dataclasses import replace

from ..fleet.strategy import InputsReader
from ..strategies import SiteInputs


class GridPrice:
    """The price the VTN's events give now (per kWh), or None."""

    def __init__(self) -> None:
        self.per_kwh: float | None = None

    def over(self, reader: InputsReader) -> InputsReader:
        """`reader` with this price in place of its own while there is one."""

        def read() -> SiteInputs:
            inputs = reader()
            if self.per_kwh is None:
                return inputs
            return replace(inputs, price_per_kwh=self.per_kwh)

        return read
