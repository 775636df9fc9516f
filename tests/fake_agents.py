"""User-style agents for the import-path expert tests."""

import time


class AlwaysRight:
    def reset(self):
        self.calls = 0

    def get_action(self, obs, info):
        return 7


class NoGetAction:
    def reset(self):
        pass


class Slow:
    def reset(self):
        pass

    def get_action(self, obs, info):
        time.sleep(2)
        return 0


class OutOfRange:
    def reset(self):
        pass

    def get_action(self, obs, info):
        return 12


class DiesOnSeed3:
    """Presses RIGHT; SIGKILLs its own process on game seed 3 (a worker the OOM killer takes)."""

    def reset(self):
        pass

    def get_action(self, obs, info):
        if info.get("seed") == 3:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        return 7
