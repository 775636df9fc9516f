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
