package forecast_test

import (
	"io/fs"

	"github.com/iisproject/iis/forecast/cdsidata"
)

func cdsidataFS() fs.FS { return cdsidata.FS }
