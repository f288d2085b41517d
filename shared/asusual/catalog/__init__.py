"""The product catalog: names, prices, seasons, replenishment periods, sensitivity."""
