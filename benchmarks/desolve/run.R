# deSolve peer of the reference workload: lsoda with the compiled C right-hand side
# (refmodel.c), weekly restarts with the titration rule in R, subjects over mc.cores forks.
# Usage: Rscript run.R PARAMS.csv Y0.csv OUT.csv PROCS F REPEATS
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(deSolve))
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
dyn.load(file.path(here, paste0("refmodel", .Platform$dynlib.ext)))
P <- as.matrix(read.csv(args[1]))
Y0 <- as.matrix(read.csv(args[2]))
procs <- as.integer(args[4]); Fbio <- as.numeric(args[5]); repeats <- as.integer(args[6])
sim1 <- function(i) {
  p <- P[i, ]; y <- Y0[i, ]; out <- numeric(183); level <- 1
  for (k in 0:25) {
    times <- (7 * k):(7 * k + 7)
    res <- lsoda(y, times, func = "derivs", parms = p, dllname = "refmodel", initfunc = "initmod",
                 rtol = 1e-6, atol = 1e-9, maxsteps = 1e6)
    out[(7 * k + 1):(7 * k + 8)] <- res[, 10]
    y <- res[8, 2:10]
    if (k < 25) {
      pl <- y[9]
      if (pl < 50) level <- min(level + 1, 10) else if (pl > 200) level <- max(level - 1, 0)
      dose <- if (pl > 400) 0 else level
      y[1] <- y[1] + Fbio * 1000 * dose
    }
  }
  out
}
invisible(sim1(1))  # warm up
best <- Inf
for (r in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]
  res <- parallel::mclapply(seq_len(nrow(P)), sim1, mc.cores = procs)
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
write.table(do.call(rbind, res), args[3], sep = ",", row.names = FALSE, col.names = FALSE)
cat(sprintf("%.6f\n", best))
