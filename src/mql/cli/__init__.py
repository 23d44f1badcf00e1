"""The command line face of mql (`mql --help`)."""
