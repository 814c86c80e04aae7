"""Local HTTP emulators of the sales channels' APIs, serving the demo world's truth as of a clock."""
