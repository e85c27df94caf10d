# httpool._blocking: the blocking driver. Its one function, drive(), is a cdef
# function cimported by _request and _response; nothing here is visible from Python.
