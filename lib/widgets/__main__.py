"""``python -m lib.widgets``: draw and cache the static frames of chapter 8's widgets."""
from lib.widgets.chapter8 import main

main()
