"""The demo's simulated homes: the seeded sites keep the place, country and clock the demo gave
them, so their household load follows their own country's holidays; and their chatter stays out
of the terminal the demo printed its logins to."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from voltfleet.demo import HOMES
from voltfleet.simulator import weather
from voltfleet.simulator.demo_fleet import (
    DEMO_SEED,
    DemoFleet,
    QuietSimulatedTraffic,
    on_seeded_sites,
)
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.ocpp_charger import WireLog

# a public holiday on a weekday in the home's country that is none in Germany
HOLIDAYS = {
    "Casa Verde Graz": date(2026, 12, 8),  # Mariä Empfängnis, a Tuesday
    "Villa Zon Utrecht": date(2026, 4, 27),  # Koningsdag, a Monday
    "Ferme Solaire Lyon": date(2026, 7, 14),  # Fête nationale, a Tuesday
}


def day_of_quarters(day: date, tz: str) -> tuple[datetime, ...]:
    """The middles of a local day's quarter hours, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return tuple(start + timedelta(minutes=7.5 + 15 * k) for k in range(96))


def test_the_seeded_homes_take_the_demo_sites_country_and_clock() -> None:
    made = make_homes(20, DEMO_SEED)
    homes = on_seeded_sites(made)
    assert len(homes) == 20
    for home, (name, country, tz, kwp, lat, lon) in zip(homes, HOMES, strict=False):
        assert (home.name, home.country, home.timezone) == (name, country, tz)
        assert (home.latitude, home.longitude, home.pv.capacity_wp) == (lat, lon, kwp * 1000)
    assert homes[len(HOMES) :] == made[len(HOMES) :]  # the others as the seed made them


@pytest.mark.parametrize("name", sorted(HOLIDAYS))
def test_a_seeded_home_abroad_keeps_its_own_holidays(name: str) -> None:
    home = next(h for h in on_seeded_sites(make_homes(5, DEMO_SEED)) if h.name == name)
    holiday = HOLIDAYS[name]
    times = day_of_quarters(holiday, home.timezone)
    own = weather.household_shape_w_per_kwh(times, home.timezone, home.country)
    german = weather.household_shape_w_per_kwh(times, home.timezone, "DE")
    assert not np.allclose(own, german), f"{holiday} is no holiday in {home.country}'s profile"
    # the day after is an ordinary working day in both countries
    after = day_of_quarters(holiday + timedelta(days=1), home.timezone)
    assert np.allclose(
        weather.household_shape_w_per_kwh(after, home.timezone, home.country),
        weather.household_shape_w_per_kwh(after, home.timezone, "DE"),
    )


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_logs() -> Iterator[tuple[logging.Logger, logging.Logger, Lines]]:
    """The server's access log and OCPP message log, each at INFO and caught by one handler (and
    put back as they were)."""
    lines = Lines()
    loggers = [logging.getLogger(name) for name in QuietSimulatedTraffic.LOGGERS]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.disabled = False
        lg.addHandler(lines)
    yield loggers[0], loggers[1], lines
    for lg, (level, disabled) in zip(loggers, saved, strict=True):
        lg.removeHandler(lines)
        lg.setLevel(level)
        lg.disabled = disabled


def test_the_demo_keeps_its_simulated_devices_out_of_the_server_logs(
    server_logs: tuple[logging.Logger, logging.Logger, Lines],
) -> None:
    access, ocpp, lines = server_logs

    def traffic() -> list[str]:
        lines.records.clear()
        line = '%s - "%s %s HTTP/%s" %d'  # as uvicorn logs a request
        access.info(line, "127.0.0.1:5000", "GET", "/api/v1/gateway/commands", "1.1", 200)
        access.info(line, "127.0.0.1:5000", "POST", "/api/v1/ingest", "1.1", 200)
        access.info(line, "127.0.0.1:5001", "GET", "/site/abc", "1.1", 200)
        ocpp.info("%s: send %s", "SIMDEMO00000-EVC", '[3,"1",{}]')  # as the ocpp library logs
        ocpp.info("%s: receive message %s", "WALLBOX-7", '[2,"2","Heartbeat",{}]')
        return [r.getMessage() for r in lines.records]

    assert len(traffic()) == 5  # no demo running: every line
    # the platform's own port 9 answers nothing: the fleet waits for the server, then gives up
    fleet = DemoFleet("http://127.0.0.1:9", "e", "p", ready_timeout_s=0.5).start()
    try:
        assert traffic() == [
            '127.0.0.1:5001 - "GET /site/abc HTTP/1.1" 200',
            'WALLBOX-7: receive message [2,"2","Heartbeat",{}]',
        ]
    finally:
        assert fleet.stop()
    assert len(traffic()) == 5  # stopped: every line again


def test_a_simulated_chargers_ocpp_messages_are_debug() -> None:
    lines = Lines()
    logger = logging.getLogger("voltfleet.test.wire")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        wire = WireLog(logger)
        wire.info("%s: send %s", "SIMDEMO00000-EVC", "[2]")  # as the ocpp library logs it
        wire.warning("Received a CALLError: %s'", "[4]")
    finally:
        logger.removeHandler(lines)
    assert [(r.levelno, r.getMessage()) for r in lines.records] == [
        (logging.DEBUG, "SIMDEMO00000-EVC: send [2]"),
        (logging.WARNING, "Received a CALLError: [4]'"),
    ]
