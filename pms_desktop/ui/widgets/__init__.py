"""Small widgets shared by several screens (patient banner, change notifications, ...)."""
