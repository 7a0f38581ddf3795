"""From frames to read events: frame sources, the lane loop that decides what each frame needs,
tracking plates across frames, fusing each field's probabilities, one event per vehicle pass."""
