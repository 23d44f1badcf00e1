"""Learning from outcomes (pure): readable points fitted from outcomes, threshold
calibration, backtest comparison and drift audit. No I/O and no clock: the rows come from
the services, which read them from the ledger as of each decision's moment."""
