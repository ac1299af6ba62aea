from rest_framework.response import Response
from rest_framework.views import APIView

from gates import policy
from gates.records import gate_record


class GateRecordView(APIView):
    """GET a gate as a record: criteria as judged now, signatures, the verified trail."""

    def get(self, request, pk: int):
        return Response(gate_record(policy.get_gate_for(request.user, pk)))
