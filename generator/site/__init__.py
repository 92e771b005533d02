"""What the site shows: the plan of its pages, the templates, search and the files for machines."""
