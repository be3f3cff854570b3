"""A local Paperspace Deployments API (reference §2) for tests, demos and CI dry runs."""

from paperspace_deploy.emulator.faults import Fault, Faults, parse_fault
from paperspace_deploy.emulator.server import Emulator
from paperspace_deploy.emulator.state import MODE_ENV, MODES, State, Timings

__all__ = ["MODES", "MODE_ENV", "Emulator", "Fault", "Faults", "State", "Timings", "parse_fault"]
