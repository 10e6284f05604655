"""One module per network behind the Publisher interface; `registry` maps channel kinds to them."""
