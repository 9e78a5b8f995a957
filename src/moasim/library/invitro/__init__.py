"""In-vitro layer: c-Mpl binding with dimerisation, signalling network, cell models, simulated assays."""
