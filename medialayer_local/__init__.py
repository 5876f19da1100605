"""The whole API on one machine: the three media apps in one ASGI app, served by uvicorn."""
