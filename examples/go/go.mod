module tenzor.example/cgo

go 1.19
