module github.com/iisproject/iis

go 1.26.8

require github.com/lenaten/hl7 v0.0.0-20181009090854-63c5c49a56d9
