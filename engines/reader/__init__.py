"""The field classifiers: synthetic training plates, the networks, training and export."""
