"""Reading the catalog: finding agent files, reading their frontmatter, checking them, interpreting them."""
