# ipvs/: see the README of this folder.
