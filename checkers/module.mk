# checkers/: see the README of this folder.
