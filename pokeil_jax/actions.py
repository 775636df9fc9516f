"""The action space every env, expert, data file and network shares: one GBA button per action."""

#: Index i of an action is button BUTTONS[i].
BUTTONS = ("A", "B", "START", "SELECT", "UP", "DOWN", "LEFT", "RIGHT", "L", "R")
NUM_ACTIONS = len(BUTTONS)
