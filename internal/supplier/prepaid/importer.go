package prepaid

import (
	"context"
	"time"

	"kios/internal/catalog"
)

// Importer brings a configured prepaid supplier's providers and products
// into our catalog: what we lack is added (priced by the levels' markup
// rules), products we have get the supplier's SKU, and the supplier's new
// costs go through catalog.ApplyCosts, which moves the prices that follow
// them and sends our members their price_update. The CLI's
// `kios supplier import` and the operator API's import both use it.
type Importer struct {
	Configs    *Configs
	References *References
	Catalog    *catalog.Store
	Now        func() time.Time
}

// ImportReport is what an import did.
type ImportReport struct {
	catalog.ImportResult
	// Costs is what applying the supplier's new costs did (zero when no
	// cost changed).
	Costs catalog.CostResult
}

// Import reads supplier name's catalog over its API (for at most five
// minutes) and imports it with prefix before its codes. An unknown
// supplier is a fault.NotFound.
func (im Importer) Import(ctx context.Context, name, prefix string) (ImportReport, error) {
	c, err := im.Configs.Get(ctx, name)
	if err != nil {
		return ImportReport{}, err
	}
	client := New(c, im.References, nil, im.Now)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	provs, err := client.Catalog(cctx)
	if err != nil {
		return ImportReport{}, err
	}
	var rep ImportReport
	if rep.ImportResult, err = im.Catalog.Import(ctx, c.Name, provs, catalog.ImportOptions{Prefix: prefix}); err != nil {
		return ImportReport{}, err
	}
	if len(rep.ImportResult.Costs) > 0 {
		if rep.Costs, err = im.Catalog.ApplyCosts(ctx, c.Name, rep.ImportResult.Costs); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
