module github.com/iisproject/iis

go 1.26.8
