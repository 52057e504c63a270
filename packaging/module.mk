# packaging/: see the README of this folder.
