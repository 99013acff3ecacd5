"""The peer: the same routes written with FastAPI + Mangum, the stack of the prototype we replace."""
