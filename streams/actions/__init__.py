"""IT actions at run time: the keeper of their states, following them, deciding, delivering them."""
