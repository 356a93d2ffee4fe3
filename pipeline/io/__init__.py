"""Infrastructure: atomic output folders, downloads, archives, safe ``.npz`` reading,
configuration files, and helper processes that die with their parent."""
