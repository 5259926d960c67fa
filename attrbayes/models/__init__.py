"""Model stage: the OLS baseline and the Bayesian models, all reading one Design."""
