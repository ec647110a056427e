"""Evaluation: image (PSNR, SSIM, LPIPS), pose (RRA/RTA/AUC, R_err/T_err) and geometry (accuracy,
completeness, Chamfer) metrics with the papers' protocols."""
