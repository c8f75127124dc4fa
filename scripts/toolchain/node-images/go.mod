module mesh-tenancy/toolchain/node-images

go 1.24.0
