package simulator

import (
	"context"
	"hash/fnv"
	"strings"

	"kios/internal/supplier"
)

// holders are the names the simulator gives account holders.
var holders = []string{"BUDI SANTOSO", "SITI RAHAYU", "AGUS SETIAWAN", "DEWI LESTARI", "RUDI HARTONO",
	"NUR AINI", "EKO PRASETYO", "RINA WULANDARI"}

// Inquire looks up an account: a number ending in 4040 does not exist;
// any other has a holder whose name is chosen by the number.
func (s *Simulator) Inquire(ctx context.Context, q supplier.Inquiry) (supplier.Account, error) {
	if err := s.wait(ctx); err != nil {
		return supplier.Account{}, err
	}
	if strings.HasSuffix(q.Customer, "4040") {
		return supplier.Account{}, nil
	}
	h := fnv.New32a()
	h.Write([]byte(q.Customer))
	return supplier.Account{Found: true, Name: holders[h.Sum32()%uint32(len(holders))]}, nil
}
