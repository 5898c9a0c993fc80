"""`cortese demo`: a small data set so every branch of the support menu can be tried at once."""
