"""What persists between builds and what reaches `--out`: the build cache and the output writer."""
