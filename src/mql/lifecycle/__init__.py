"""CORE: lifecycle stages, the allowed transitions, and the rules that move contacts."""
