"""Core package of the European Monitor on Urban Integration."""
