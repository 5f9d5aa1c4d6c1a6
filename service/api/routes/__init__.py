"""The API routes, one module per resource; ``service/api/main.py`` assembles them."""
