"""The Evotor → VK goods sync: mapping, photos (and later its configuration, engine and runs)."""
