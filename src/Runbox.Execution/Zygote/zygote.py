# zygote placeholder
